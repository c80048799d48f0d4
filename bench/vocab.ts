/**
 * Word lists for the bench dataset, one per language, in rough order of frequency: the
 * generator draws rank r with probability ∝ 1/r (Zipf), so function words come first and
 * domain words (health training, the library's subject) fill the long tail. Real words
 * rather than a repeated string, so the text compresses like natural language.
 */

const EN = `
the of and to in a for is on that with as are by this be from or it at an was
not can which have has all their they more will should other these each when about
health training care community workers patients how use may also new been into
guide module course who such women children clinical first most after two one used
staff during between before information through skills learning practice people
nurses support treatment management prevention services facility district national
safe safety public review local some covid infection control hand hygiene masks
vaccine vaccination dose doses cold chain storage supply stock records report reporting
data mobile phone offline video audio slides handbook manual checklist poster leaflet
maternal newborn child nutrition breastfeeding growth monitoring malaria tuberculosis
hiv testing counselling referral emergency triage fever cough diarrhoea dehydration
oral rehydration zinc pneumonia antibiotics malnutrition screening assessment diagnosis
symptoms signs danger early warning home visit household family mothers fathers
adolescents elderly disability mental wellbeing stress burnout supervision mentoring
quality improvement protocol standard procedures step steps basic advanced level
version updated edition translated available download free open license materials
resource resources library topic topics lesson lessons exercise exercises quiz answers
case study studies example examples role play group discussion facilitator participants
trainer trainers learner learners assessment certificate hours week weeks day days
rural urban remote clinic clinics hospital hospitals health centre centres team teams
water sanitation waste disposal cleaning disinfection environment equipment gloves
gown protective personal outbreak response contact tracing isolation quarantine
surveillance cases confirmed suspected laboratory sample samples specimen transport
communication risk messages rumours trust leaders volunteers schools teachers
students midwives doctors pharmacists technicians managers policy planning budget
practical simple short clear evidence based recommended world organization ministry
region country countries language languages across while within without because
however therefore including include includes covers explains describes shows helps
`

const FR = `
de la le et les des en un une du pour est dans que qui sur par au avec ce aux
plus sont être pas ou ces cette leur leurs son sa ses comme aussi tout tous peut
santé formation soins agents communautaires patients comment utiliser nouveau module
cours guide femmes enfants clinique premier après deux utilisé personnel pendant
entre avant information grâce compétences apprentissage pratique personnes infirmiers
soutien traitement prise charge prévention services établissement district national
sécurité sûr publique examen local quelques infection contrôle hygiène mains masques
vaccin vaccination dose doses chaîne froid stockage approvisionnement stock dossiers
rapport données téléphone mobile hors ligne vidéo audio diapositives manuel liste
affiche dépliant maternelle nouveau-né enfant nutrition allaitement croissance suivi
paludisme tuberculose vih dépistage conseil orientation urgence triage fièvre toux
diarrhée déshydratation réhydratation orale zinc pneumonie antibiotiques malnutrition
évaluation diagnostic symptômes signes danger alerte précoce visite domicile ménage
famille mères pères adolescents personnes âgées handicap mentale bien-être stress
épuisement supervision accompagnement qualité amélioration protocole norme procédures
étape étapes base avancé niveau version mise à jour édition traduit disponible
télécharger gratuit ouvert licence matériel ressource ressources bibliothèque sujet
leçon leçons exercice exercices questionnaire réponses étude cas exemple exemples jeu
rôle groupe discussion animateur participants formateur formateurs apprenant
apprenants certificat heures semaine semaines jour jours rural urbain isolé centre
centres hôpital hôpitaux équipe équipes eau assainissement déchets élimination
nettoyage désinfection environnement équipement gants blouse protection individuelle
épidémie riposte recherche contacts isolement quarantaine surveillance confirmés
suspects laboratoire échantillon échantillons transport communication risque messages
rumeurs confiance responsables bénévoles écoles enseignants étudiants sages-femmes
médecins pharmaciens techniciens gestionnaires politique planification budget simple
court clair fondé preuves recommandé organisation mondiale ministère région pays
langue langues travers tandis sans parce cependant donc notamment comprend couvre
explique décrit montre aide
`

const ES = `
de la el en y los las a que del para por un una con es se al su sus como más
este esta estos estas son ser no o pero también todo todos puede salud formación
atención agentes comunitarios pacientes cómo usar nuevo módulo curso guía mujeres
niños clínica primero después dos usado personal durante entre antes información
mediante habilidades aprendizaje práctica personas enfermeras apoyo tratamiento manejo
prevención servicios establecimiento distrito nacional seguridad seguro pública
revisión local algunos infección control higiene manos mascarillas vacuna vacunación
dosis cadena frío almacenamiento suministro existencias registros informe datos
teléfono móvil sin conexión vídeo audio diapositivas manual lista cartel folleto
materna recién nacido niño nutrición lactancia crecimiento seguimiento malaria
tuberculosis vih prueba consejería derivación emergencia triaje fiebre tos diarrea
deshidratación rehidratación oral zinc neumonía antibióticos desnutrición tamizaje
evaluación diagnóstico síntomas signos peligro alerta temprana visita domiciliaria
hogar familia madres padres adolescentes mayores discapacidad mental bienestar estrés
agotamiento supervisión acompañamiento calidad mejora protocolo norma procedimientos
paso pasos básico avanzado nivel versión actualizada edición traducida disponible
descargar gratis abierto licencia materiales recurso recursos biblioteca tema temas
lección lecciones ejercicio ejercicios cuestionario respuestas estudio caso ejemplo
ejemplos juego roles grupo discusión facilitador participantes capacitador
capacitadores estudiante estudiantes certificado horas semana semanas día días rural
urbano remoto centro centros hospital hospitales equipo equipos agua saneamiento
residuos eliminación limpieza desinfección ambiente equipamiento guantes bata
protección individual brote respuesta rastreo contactos aislamiento cuarentena
vigilancia casos confirmados sospechosos laboratorio muestra muestras transporte
comunicación riesgo mensajes rumores confianza líderes voluntarios escuelas maestros
parteras médicos farmacéuticos técnicos gestores política planificación presupuesto
práctico sencillo breve claro basado evidencia recomendado organización mundial
ministerio región país países idioma idiomas través mientras dentro porque sin
embargo por tanto incluye cubre explica describe muestra ayuda
`

function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w.length > 0)
}

/** Language code → words in rough frequency order (most frequent first). */
export const VOCABULARY: Readonly<Record<'en' | 'fr' | 'es', readonly string[]>> = {
  en: words(EN),
  fr: words(FR),
  es: words(ES),
}

/** Tags for resources; drawn with the same Zipf rule as words. */
export const TAGS: readonly string[] = words(`
covid-19 infection-prevention hand-hygiene vaccination maternal-health newborn-care
nutrition malaria tuberculosis hiv mental-health community-health triage emergency
water-sanitation cold-chain surveillance contact-tracing risk-communication supervision
data-quality laboratory pharmacy primary-care adolescent-health elderly-care disability
outbreak-response training-of-trainers mobile-learning
`)

/** Partition names: libraries keep resources in partitions (collections). */
export const PARTITIONS: readonly string[] = [
  'library/core',
  'library/covid-19',
  'library/maternal-newborn',
  'library/community-health',
  'library/infection-control',
  'library/nutrition',
  'library/mental-health',
  'library/district-north',
]
